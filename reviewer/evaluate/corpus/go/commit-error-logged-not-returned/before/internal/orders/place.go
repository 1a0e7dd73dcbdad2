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
