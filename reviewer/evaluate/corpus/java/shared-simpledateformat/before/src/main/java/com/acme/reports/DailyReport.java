package com.acme.reports;

import java.time.LocalDate;
import java.util.List;

public class DailyReport {
    private final List<Sale> sales;

    public DailyReport(List<Sale> sales) {
        this.sales = sales;
    }

    public long totalCents() {
        return sales.stream().mapToLong(Sale::amountCents).sum();
    }
}
