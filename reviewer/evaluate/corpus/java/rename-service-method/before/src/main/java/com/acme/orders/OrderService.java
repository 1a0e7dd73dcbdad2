package com.acme.orders;

import java.util.List;

public class OrderService {
    private final OrderRepository repo;

    public OrderService(OrderRepository repo) {
        this.repo = repo;
    }

    public List<Order> getOrdersForCust(long custId) {
        return repo.findByCustomer(custId);
    }
}
