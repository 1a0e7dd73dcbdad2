package com.acme.catalog;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

public class CsvImporter {
    private final ProductRepository products;

    public CsvImporter(ProductRepository products) {
        this.products = products;
    }

    static Product parse(String line) {
        String[] f = line.split(",", -1);
        return new Product(f[0], f[1], Long.parseLong(f[2]));
    }
}
