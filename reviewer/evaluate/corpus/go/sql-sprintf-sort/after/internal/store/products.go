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

// List returns products ordered by the column the client asked for (?sort=name).
func (p *Products) List(ctx context.Context, sortBy string) ([]Product, error) {
	query := fmt.Sprintf("SELECT id, name, price FROM products ORDER BY %s", sortBy)
	rows, err := p.db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Product
	for rows.Next() {
		var pr Product
		if err := rows.Scan(&pr.ID, &pr.Name, &pr.Price); err != nil {
			return nil, err
		}
		out = append(out, pr)
	}
	return out, rows.Err()
}
