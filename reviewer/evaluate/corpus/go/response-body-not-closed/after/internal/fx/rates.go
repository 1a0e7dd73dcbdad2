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

// Fetch returns today's rates for base; called every minute by the pricing job.
func Fetch(base string) (Rates, error) {
	resp, err := client.Get("https://rates.example.com/latest?base=" + base)
	if err != nil {
		return Rates{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Rates{}, fmt.Errorf("rates: HTTP %d", resp.StatusCode)
	}
	var r Rates
	err = json.NewDecoder(resp.Body).Decode(&r)
	return r, err
}
