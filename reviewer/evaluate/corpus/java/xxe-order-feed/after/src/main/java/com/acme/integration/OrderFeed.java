package com.acme.integration;

import java.io.InputStream;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;

public class OrderFeed {
    private final OrderService orders;

    public OrderFeed(OrderService orders) {
        this.orders = orders;
    }

    /** Parses an order feed uploaded by a partner. */
    public int ingest(InputStream upload) throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        DocumentBuilder builder = factory.newDocumentBuilder();
        Document doc = builder.parse(upload);
        return orders.importFrom(doc);
    }
}
