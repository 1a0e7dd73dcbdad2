package web

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"
)

type session struct {
	userID  string
	expires time.Time
}

var sessions = map[string]session{}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
