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
