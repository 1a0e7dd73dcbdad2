package com.acme.accounts;

public class Account {
    private final String id;
    private String status;
    private long balanceCents;

    public Account(String id, String status, long balanceCents) {
        this.id = id;
        this.status = status;
        this.balanceCents = balanceCents;
    }

    public String getStatus() {
        return status;
    }

    public long getBalanceCents() {
        return balanceCents;
    }
}
