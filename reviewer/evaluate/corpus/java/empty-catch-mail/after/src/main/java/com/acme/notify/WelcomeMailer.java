package com.acme.notify;

import java.util.logging.Logger;

public class WelcomeMailer {
    private static final Logger LOG = Logger.getLogger(WelcomeMailer.class.getName());
    private final MailClient client;
    private final TemplateEngine templates;

    public WelcomeMailer(MailClient client, TemplateEngine templates) {
        this.client = client;
        this.templates = templates;
    }

    public void sendWelcome(User user) {
        try {
            String body = templates.render("welcome", user);
            client.send(user.getEmail(), "Welcome to Acme", body);
            LOG.info("welcome mail sent to user " + user.getId());
        } catch (Exception e) {
        }
    }
}
