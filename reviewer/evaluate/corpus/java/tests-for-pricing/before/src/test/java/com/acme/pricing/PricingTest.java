package com.acme.pricing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PricingTest {
    private final Pricing pricing = new Pricing();

    @Test
    void singleItem() {
        assertEquals(1000, pricing.priceCents(1000, 1, false));
    }
}
