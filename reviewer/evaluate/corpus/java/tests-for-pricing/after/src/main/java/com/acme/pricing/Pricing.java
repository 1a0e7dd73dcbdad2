package com.acme.pricing;

public class Pricing {
    public long priceCents(long listCents, int quantity, boolean member) {
        long total = listCents * quantity;
        if (quantity >= 10) {
            total = total * 90 / 100;
        }
        if (member) {
            total = total * 95 / 100;
        }
        return total;
    }
}
