// Package ratelimit is a token bucket shared by the API handlers.
package ratelimit

import (
	"sync"
	"time"
)

// Limiter allows rate events per second on average and bursts of up to burst.
// It is safe for concurrent use.
type Limiter struct {
	mu       sync.Mutex
	rate     float64
	burst    float64
	tokens   float64
	last     time.Time
}

// New returns a Limiter that starts full.
func New(rate, burst float64) *Limiter {
	return &Limiter{rate: rate, burst: burst, tokens: burst, last: time.Now()}
}

// Allow reports whether an event may happen now, and if so takes a token.
func (l *Limiter) Allow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	l.last = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}
