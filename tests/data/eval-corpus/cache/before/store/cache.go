package store

type Cache struct {
	items map[string]string
}

func New() *Cache {
	return &Cache{items: map[string]string{}}
}
