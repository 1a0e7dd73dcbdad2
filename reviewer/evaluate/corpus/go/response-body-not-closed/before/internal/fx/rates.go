package fx

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

var client = &http.Client{Timeout: 10 * time.Second}

type Rates struct {
	Base  string             `json:"base"`
	Rates map[string]float64 `json:"rates"`
}
