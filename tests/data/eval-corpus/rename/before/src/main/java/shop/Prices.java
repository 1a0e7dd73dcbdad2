package shop;

public final class Prices {
    private Prices() {}

    public static long withTax(long cents, int percent) {
        return cents + cents * percent / 100;
    }
}
