package com.acme.social;

import java.util.List;

public class Friends {
    private final FriendRepository repo;

    public Friends(FriendRepository repo) {
        this.repo = repo;
    }

    public List<Person> of(Person person) {
        return repo.friendsOf(person.getId());
    }

    public List<Person> suggestionsFor(Person viewer) {
        return repo.suggestions(viewer.getId()).stream()
                .filter(p -> p.getId() != viewer.getId())
                .toList();
    }
}
