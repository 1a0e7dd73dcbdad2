package com.acme.catalog;

import java.io.BufferedReader;
import java.io.FileReader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

public class CsvImporter {
    private final ProductRepository products;

    public CsvImporter(ProductRepository products) {
        this.products = products;
    }

    public int importFile(Path csv) throws IOException {
        BufferedReader reader = new BufferedReader(new FileReader(csv.toFile()));
        List<Product> batch = new ArrayList<>();
        String line = reader.readLine(); // header
        while ((line = reader.readLine()) != null) {
            batch.add(parse(line));
        }
        products.saveAll(batch);
        return batch.size();
    }

    static Product parse(String line) {
        String[] f = line.split(",", -1);
        return new Product(f[0], f[1], Long.parseLong(f[2]));
    }
}
