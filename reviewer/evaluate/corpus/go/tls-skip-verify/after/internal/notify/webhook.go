package notify

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"time"
)

type Event struct {
	Kind    string `json:"kind"`
	Payload any    `json:"payload"`
}

// Some customers run endpoints with self-signed certificates.
var webhookClient = &http.Client{
	Timeout: 10 * time.Second,
	Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	},
}

// Send posts the event to url.
func Send(url string, e Event) error {
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	resp, err := webhookClient.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
