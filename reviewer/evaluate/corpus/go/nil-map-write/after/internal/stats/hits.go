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

// PerPath counts the hits of human visitors per path.
func PerPath(hits []Hit) map[string]int {
	var counts map[string]int
	for _, h := range hits {
		if isBot(h.UserAgent) {
			continue
		}
		counts[h.Path]++
	}
	return counts
}
