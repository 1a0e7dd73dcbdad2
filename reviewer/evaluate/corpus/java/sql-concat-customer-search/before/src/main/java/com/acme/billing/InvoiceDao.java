package com.acme.billing;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

public class InvoiceDao {
    private final DataSource dataSource;

    public InvoiceDao(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public Invoice findById(long id) throws SQLException {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT * FROM invoices WHERE id = ?")) {
            ps.setLong(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Invoice.from(rs) : null;
            }
        }
    }
}
