package images

import (
	"log"
	"sync"
)

type Job struct {
	Src, Dst string
	Width    int
}

func resize(j Job) error {
	// decode, scale and encode; omitted
	return nil
}

// ResizeAll resizes every job concurrently and waits for all of them.
func ResizeAll(jobs []Job) {
	var wg sync.WaitGroup
	for _, j := range jobs {
		go func(j Job) {
			wg.Add(1)
			defer wg.Done()
			if err := resize(j); err != nil {
				log.Printf("resize %s: %v", j.Src, err)
			}
		}(j)
	}
	wg.Wait()
}
