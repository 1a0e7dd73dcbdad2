package users

import "strings"

type User struct {
	ID    int64
	Email string
}

func normEmail(e string) string {
	return strings.ToLower(strings.TrimSpace(e))
}

func FindByEmail(all []User, email string) (User, bool) {
	want := normEmail(email)
	for _, u := range all {
		if normEmail(u.Email) == want {
			return u, true
		}
	}
	return User{}, false
}
