package com.acme.mail;

import java.util.List;

public class Recipients {
    public static String normalize(String email) {
        return email.trim().toLowerCase();
    }
}
