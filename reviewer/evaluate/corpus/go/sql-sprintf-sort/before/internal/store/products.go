package store

import (
	"context"
	"database/sql"
	"fmt"
)

type Product struct {
	ID    int64
	Name  string
	Price int64
}

type Products struct{ db *sql.DB }

func (p *Products) ByID(ctx context.Context, id int64) (Product, error) {
	var out Product
	err := p.db.QueryRowContext(ctx, "SELECT id, name, price FROM products WHERE id = $1", id).
		Scan(&out.ID, &out.Name, &out.Price)
	return out, err
}
