/** The message every scenario sends: small, text and HTML, one recipient (what a password reset looks like). */
export function message(i: number) {
  return {
    from: { email: "bench@example.com", name: "Bench" },
    to: { email: `rcpt${i}@example.net` },
    subject: `Bench message ${i}`,
    text_body: "Your code is 123456. It expires in 10 minutes.",
    html_body: "<p>Your code is <b>123456</b>. It expires in 10 minutes.</p>",
  };
}
