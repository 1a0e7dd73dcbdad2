package com.acme.geo;

public record Coordinates(double latitude, double longitude) {}
