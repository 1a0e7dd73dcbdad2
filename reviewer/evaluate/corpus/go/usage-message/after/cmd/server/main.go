package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", ":8080", "listen address, host:port (empty host: every interface)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: server [-addr host:port]\n\nServes the API.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	http.HandleFunc("/health", health)
	log.Printf("listening on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
