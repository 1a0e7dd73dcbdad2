package com.acme.orders;

import java.util.List;

public class OrderController {
    private final OrderService service;

    public OrderController(OrderService service) {
        this.service = service;
    }

    public List<Order> list(long customerId) {
        return service.getOrdersForCust(customerId);
    }
}
