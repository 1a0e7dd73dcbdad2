package users

import "strings"

type User struct {
	ID    int64
	Email string
}

// NormalizeEmail lower-cases and trims an address for comparison.
func NormalizeEmail(e string) string {
	return strings.ToLower(strings.TrimSpace(e))
}

func FindByEmail(all []User, email string) (User, bool) {
	want := NormalizeEmail(email)
	for _, u := range all {
		if NormalizeEmail(u.Email) == want {
			return u, true
		}
	}
	return User{}, false
}
