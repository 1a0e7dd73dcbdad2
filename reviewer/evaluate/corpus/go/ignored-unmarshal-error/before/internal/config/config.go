package config

import (
	"encoding/json"
	"os"
	"time"
)

type Config struct {
	Listen       string        `json:"listen"`
	ReadTimeout  time.Duration `json:"read_timeout"`
	DatabaseURL  string        `json:"database_url"`
	MaxBodyBytes int64         `json:"max_body_bytes"`
}

func Defaults() Config {
	return Config{Listen: ":8080", ReadTimeout: 5 * time.Second, MaxBodyBytes: 1 << 20}
}
