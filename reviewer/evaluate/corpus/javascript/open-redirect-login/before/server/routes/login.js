const express = require("express");
const { authenticate } = require("./auth");

const router = express.Router();

router.get("/login", (req, res) => {
  res.render("login", { next: req.query.next || "/" });
});
