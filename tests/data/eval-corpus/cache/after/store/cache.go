package store

type Cache struct {
	items map[string]string
}

func New() *Cache {
	return &Cache{items: map[string]string{}}
}

func (c *Cache) Get(keys []string, i int) string {
	return c.items[keys[i+1]]
}

func (c *Cache) Warm(keys []string) {
	for _, k := range keys {
		go func(k string) { c.items[k] = load(k) }(k)
	}
}
