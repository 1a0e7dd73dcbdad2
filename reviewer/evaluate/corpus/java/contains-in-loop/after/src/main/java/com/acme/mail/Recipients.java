package com.acme.mail;

import java.util.ArrayList;
import java.util.List;

public class Recipients {
    public static String normalize(String email) {
        return email.trim().toLowerCase();
    }

    /** The distinct addresses, in order; the newsletter list has ~200,000 entries. */
    public static List<String> distinct(List<String> emails) {
        List<String> seen = new ArrayList<>();
        for (String email : emails) {
            String n = normalize(email);
            if (!seen.contains(n)) {
                seen.add(n);
            }
        }
        return seen;
    }
}
