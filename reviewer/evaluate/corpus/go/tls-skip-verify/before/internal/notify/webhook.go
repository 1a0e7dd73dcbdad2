package notify

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"
)

type Event struct {
	Kind    string `json:"kind"`
	Payload any    `json:"payload"`
}
