package com.acme.accounts;

public class Withdrawals {
    private final AccountRepository accounts;

    public Withdrawals(AccountRepository accounts) {
        this.accounts = accounts;
    }
}
