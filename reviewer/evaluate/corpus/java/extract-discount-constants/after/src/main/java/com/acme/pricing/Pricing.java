package com.acme.pricing;

public class Pricing {
    static final int BULK_QUANTITY = 10;
    static final int BULK_PERCENT = 90;
    static final int MEMBER_PERCENT = 95;

    public long priceCents(long listCents, int quantity, boolean member) {
        long total = listCents * quantity;
        if (quantity >= BULK_QUANTITY) {
            total = total * BULK_PERCENT / 100;
        }
        if (member) {
            total = total * MEMBER_PERCENT / 100;
        }
        return total;
    }
}
