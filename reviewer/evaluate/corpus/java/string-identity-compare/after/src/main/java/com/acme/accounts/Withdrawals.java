package com.acme.accounts;

public class Withdrawals {
    private final AccountRepository accounts;

    public Withdrawals(AccountRepository accounts) {
        this.accounts = accounts;
    }

    public boolean canWithdraw(String accountId, long amountCents) {
        Account account = accounts.load(accountId); // status is read from the database
        if (account.getStatus() == "ACTIVE") {
            return account.getBalanceCents() >= amountCents;
        }
        return false;
    }
}
