package stats

import "strings"

type Hit struct {
	Path      string
	UserAgent string
	Status    int
}

func isBot(ua string) bool {
	ua = strings.ToLower(ua)
	return strings.Contains(ua, "bot") || strings.Contains(ua, "spider")
}
