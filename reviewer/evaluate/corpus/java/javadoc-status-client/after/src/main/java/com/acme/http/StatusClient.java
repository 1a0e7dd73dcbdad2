package com.acme.http;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * Asks the status service whether a service is up.
 *
 * <p>Thread-safe: one instance can serve every request thread.
 */
public class StatusClient {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final URI base;

    public StatusClient(URI base) {
        this.base = base;
    }

    /**
     * The HTTP status the status service answers for {@code service}: 200 when it is up.
     *
     * @throws Exception when the status service cannot be reached within 10 seconds
     */
    public int status(String service) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(base.resolve("/status/" + service))
                .timeout(Duration.ofSeconds(10))
                .build();
        return http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
    }
}
