package com.acme.reports;

import java.text.SimpleDateFormat;
import java.time.LocalDate;
import java.util.Date;
import java.util.List;

public class DailyReport {
    // Reports are rendered by the request threads of the web server.
    private static final SimpleDateFormat TITLE_FORMAT = new SimpleDateFormat("EEEE, d MMMM yyyy");
    private final List<Sale> sales;

    public DailyReport(List<Sale> sales) {
        this.sales = sales;
    }

    public long totalCents() {
        return sales.stream().mapToLong(Sale::amountCents).sum();
    }

    public String title(Date day) {
        return "Sales for " + TITLE_FORMAT.format(day);
    }
}
