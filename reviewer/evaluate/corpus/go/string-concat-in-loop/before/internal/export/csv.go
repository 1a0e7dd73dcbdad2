package export

import (
	"fmt"
	"strings"
)

type Row struct {
	ID     int
	Email  string
	Amount float64
}

func escape(s string) string {
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}
