package com.acme.inventory;

public final class Sku {
    private final String vendor;
    private final String code;

    public Sku(String vendor, String code) {
        this.vendor = vendor;
        this.code = code;
    }

    public String vendor() {
        return vendor;
    }

    public String code() {
        return code;
    }

    @Override
    public String toString() {
        return vendor + ":" + code;
    }
}
