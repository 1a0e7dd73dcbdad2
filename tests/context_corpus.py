"""A small multi-language change for the context tests: one file per language, each with a
function whose body changes far below its signature (more than 3 lines, so the diff's own
context never shows the signature), and a helper defined elsewhere in the file that the
changed line calls.

``BEFORE``/``AFTER`` are the file contents; ``SIGNATURE`` is a line of the enclosing scope
that only scope context shows; ``CALLED`` a line of the called helper's signature.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    path: str
    before: str
    after: str
    signature: str  # the enclosing function's signature line (text)
    called: str  # the called helper's signature line (text)
    language: str


def _filler(prefix: str, n: int, end: str = "") -> str:
    return "".join(f"{prefix}step_{i} = step_{i} + {i}{end}\n" for i in range(n))


def cases(spacer: int = 30) -> tuple[Case, ...]:
    """The change, with ``spacer`` filler lines between each helper and the changed function
    (30: small files, shown whole; a few hundred: scope context only)."""
    PY_BEFORE = (
        "import os\n\n\n"
        "def normalise_path(raw, base):\n"
        "    return os.path.join(base, raw)\n\n\n" + "# spacer\n" * spacer + "class Loader:\n"
        "    def load_config(self, name, retries=3):\n"
        '        """Read a config file."""\n' + _filler("        ", 8) + "        path = name\n"
        "        with open(path) as handle:\n"
        "            return handle.read()\n"
    )
    PY_AFTER = PY_BEFORE.replace(
        "        path = name\n", "        path = normalise_path(name, self.root)\n"
    )

    JS_BEFORE = (
        "function formatUser(user, options) {\n"
        "  return `${user.first} ${user.last}`;\n"
        "}\n\n" + "// spacer\n" * spacer + "export function renderProfile(user, container) {\n"
        "  const el = document.createElement('div');\n"
        + _filler("  const ", 8, ";")
        + "  el.textContent = user.name;\n"
        "  container.appendChild(el);\n"
        "}\n"
    )
    JS_AFTER = JS_BEFORE.replace(
        "  el.textContent = user.name;\n", "  el.innerHTML = formatUser(user, {});\n"
    )

    TS_BEFORE = (
        "export function clamp(value: number, low: number, high: number): number {\n"
        "  return Math.min(high, Math.max(low, value));\n"
        "}\n\n" + "// spacer\n" * spacer + "export class Meter {\n"
        "  private level = 0;\n\n"
        "  public update(reading: number, scale: number): void {\n"
        + _filler("    const ", 8, ";")
        + "    this.level = reading * scale;\n"
        "  }\n"
        "}\n"
    )
    TS_AFTER = TS_BEFORE.replace(
        "    this.level = reading * scale;\n", "    this.level = clamp(reading * scale, 0, 1);\n"
    )

    GO_BEFORE = (
        "package store\n\n"
        "func openHandle(name string, flags int) (*Handle, error) {\n"
        "\treturn nil, nil\n"
        "}\n\n"
        + "// spacer\n" * spacer
        + "func (s *Store) Fetch(key string, limit int) ([]byte, error) {\n"
        + _filler("\t", 8)
        + "\tvalue := s.items[key]\n"
        "\treturn value, nil\n"
        "}\n"
    )
    GO_AFTER = GO_BEFORE.replace(
        "\tvalue := s.items[key]\n", "\tvalue, _ := openHandle(key, limit)\n"
    )

    JAVA_BEFORE = (
        "package app;\n\n"
        "public class Billing {\n"
        "    private static long roundCents(double amount, int mode) {\n"
        "        return Math.round(amount * 100);\n"
        "    }\n\n"
        + "    // spacer\n" * spacer
        + "    public long invoiceTotal(Order order, int discount) {\n"
        + _filler("        int ", 8, ";")
        + "        long total = order.sum();\n"
        "        return total;\n"
        "    }\n"
        "}\n"
    )
    JAVA_AFTER = JAVA_BEFORE.replace(
        "        long total = order.sum();\n",
        "        long total = roundCents(order.sum(), discount);\n",
    )

    RUST_BEFORE = (
        "fn parse_header(line: &str, strict: bool) -> Option<usize> {\n"
        "    line.find(':')\n"
        "}\n\n" + "// spacer\n" * spacer + "impl Reader {\n"
        "    pub fn read_record(&mut self, input: &str) -> usize {\n"
        + _filler("        let ", 8, ";")
        + "        let pos = 0;\n"
        "        pos\n"
        "    }\n"
        "}\n"
    )
    RUST_AFTER = RUST_BEFORE.replace(
        "        let pos = 0;\n", "        let pos = parse_header(input, true).unwrap();\n"
    )

    C_BEFORE = (
        "#include <string.h>\n\n"
        "static int checksum(const char *buf, size_t len) {\n"
        "    return (int)len;\n"
        "}\n\n"
        + "/* spacer */\n" * spacer
        + "int send_packet(struct conn *c, const char *data) {\n"
        + _filler("    int ", 8, ";")
        + "    int sum = 0;\n"
        "    return sum;\n"
        "}\n"
    )
    C_AFTER = C_BEFORE.replace(
        "    int sum = 0;\n", "    int sum = checksum(data, strlen(data));\n"
    )

    CPP_BEFORE = (
        "#include <vector>\n\n"
        "namespace geo {\n"
        "double area_of(const Shape &shape, int precision) {\n"
        "    return shape.w * shape.h;\n"
        "}\n\n" + "// spacer\n" * spacer + "class Canvas {\n"
        " public:\n"
        "  double total_area(const std::vector<Shape> &shapes, bool cached) {\n"
        + _filler("    int ", 8, ";")
        + "    double sum = 0;\n"
        "    return sum;\n"
        "  }\n"
        "};\n"
        "}  // namespace geo\n"
    )
    CPP_AFTER = CPP_BEFORE.replace(
        "    double sum = 0;\n", "    double sum = area_of(shapes[0], 2);\n"
    )

    # Ruby has no grammar here: the indentation/brace fallback finds its scope.
    RUBY_BEFORE = (
        "def sanitize(text, level)\n"
        "  text.strip\n"
        "end\n\n" + "# spacer\n" * spacer + "class Mailer\n"
        "  def deliver(message, recipients)\n" + _filler("    ", 8) + "    body = message\n"
        "    send_all(body, recipients)\n"
        "  end\n"
        "end\n"
    )
    RUBY_AFTER = RUBY_BEFORE.replace("    body = message\n", "    body = sanitize(message, 2)\n")

    return (
        Case(
            "src/loader.py",
            PY_BEFORE,
            PY_AFTER,
            "def load_config(self, name, retries=3):",
            "def normalise_path(raw, base):",
            "python",
        ),
        Case(
            "web/profile.js",
            JS_BEFORE,
            JS_AFTER,
            "export function renderProfile(user, container) {",
            "function formatUser(user, options) {",
            "javascript",
        ),
        Case(
            "web/meter.ts",
            TS_BEFORE,
            TS_AFTER,
            "public update(reading: number, scale: number): void {",
            "export function clamp(value: number, low: number, high: number): number {",
            "typescript",
        ),
        Case(
            "store/store.go",
            GO_BEFORE,
            GO_AFTER,
            "func (s *Store) Fetch(key string, limit int) ([]byte, error) {",
            "func openHandle(name string, flags int) (*Handle, error) {",
            "go",
        ),
        Case(
            "app/Billing.java",
            JAVA_BEFORE,
            JAVA_AFTER,
            "public long invoiceTotal(Order order, int discount) {",
            "private static long roundCents(double amount, int mode) {",
            "java",
        ),
        Case(
            "src/reader.rs",
            RUST_BEFORE,
            RUST_AFTER,
            "pub fn read_record(&mut self, input: &str) -> usize {",
            "fn parse_header(line: &str, strict: bool) -> Option<usize> {",
            "rust",
        ),
        Case(
            "net/packet.c",
            C_BEFORE,
            C_AFTER,
            "int send_packet(struct conn *c, const char *data) {",
            "static int checksum(const char *buf, size_t len) {",
            "c",
        ),
        Case(
            "geo/canvas.cpp",
            CPP_BEFORE,
            CPP_AFTER,
            "double total_area(const std::vector<Shape> &shapes, bool cached) {",
            "double area_of(const Shape &shape, int precision) {",
            "cpp",
        ),
        Case(
            "lib/mailer.rb",
            RUBY_BEFORE,
            RUBY_AFTER,
            "def deliver(message, recipients)",
            "def sanitize(text, level)",
            "fallback",
        ),
    )


CASES = cases()
