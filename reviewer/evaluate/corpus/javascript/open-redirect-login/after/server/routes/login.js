const express = require("express");
const { authenticate } = require("./auth");

const router = express.Router();

router.get("/login", (req, res) => {
  res.render("login", { next: req.query.next || "/" });
});

router.post("/login", async (req, res) => {
  const user = await authenticate(req.body.email, req.body.password);
  if (!user) {
    return res.status(401).render("login", { error: "Wrong e-mail or password" });
  }
  req.session.userId = user.id;
  res.redirect(req.query.next || "/");
});

module.exports = router;
