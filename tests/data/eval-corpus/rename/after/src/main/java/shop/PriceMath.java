package shop;

public final class PriceMath {
    private PriceMath() {}

    public static long withTax(long cents, int percent) {
        return cents + cents * percent / 100;
    }
}
