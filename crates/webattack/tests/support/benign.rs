//! A deterministic generator of benign web-shop traffic (browsing, search, cart, checkout, JSON
//! APIs, static assets) for false-positive measurement. Vocabulary deliberately includes the
//! punctuation real shoppers type (apostrophes, parentheses, percent signs, ampersands, accents).

use bytes::Bytes;
use ensuresec_webattack::InspectRequest;

use super::form_encode;

/// xorshift64*: tiny, deterministic, good enough to vary traffic.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const UAS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0",
];
const SLUGS: &[&str] = &[
    "organic-cotton-t-shirt",
    "mens-running-shoes-42",
    "womens-rain-jacket",
    "espresso-beans-1kg",
    "stainless-steel-water-bottle",
    "kids-wool-socks-3-pack",
    "leather-wallet-brown",
    "yoga-mat-6mm",
    "smartphone-case-clear",
    "ceramic-mug-set",
    "bluetooth-headphones",
    "linen-bed-sheets-king",
    "chef-knife-20cm",
    "gift-card-50",
    "sunglasses-polarized",
    "backpack-30l",
];
const CATEGORIES: &[&str] = &[
    "men",
    "women",
    "kids",
    "home-kitchen",
    "electronics",
    "sale",
    "new-in",
    "coffee",
    "outdoor",
];
const TERMS: &[&str] = &[
    "red shoes",
    "men's jacket",
    "t-shirt (xl)",
    "50% off",
    "coffee & tea",
    "iphone 15 case",
    "café crème",
    "größe 42",
    "rock and roll t-shirt",
    "select size",
    "union jack mug",
    "drop earrings",
    "o'neill hoodie",
    "black or white",
    "2 for 1",
    "usb-c cable 2m",
    "size 10 - 12",
    "where is my order?",
    "gift for dad",
    "\"wool socks\"",
    "kids' boots",
    "script font poster",
    "ecosystem friendly bottle",
    "ls 7 jeans",
    "table lamp",
    "cat toy",
    "delete account",
    "javascript book",
    "select from our range",
    "bed & breakfast",
    "10€ voucher",
    "100% cotton",
    "shoes; sneakers",
    "tom & jerry",
    "what's new",
    "<3 gifts",
];
const NAMES: &[&str] = &[
    "O'Connor",
    "Zoë",
    "Jean-Luc",
    "María José",
    "D'Angelo",
    "Smith & Sons Ltd.",
    "Li",
    "Ødegård",
];
const STREETS: &[&str] = &[
    "12 Rue de l'Église",
    "221B Baker Street",
    "Hauptstraße 5",
    "1 Infinite Loop, Apt. #4",
    "Calle 7 (bis)",
];
const REFERERS: &[&str] = &[
    "https://shop.example/",
    "https://shop.example/category/sale",
    "https://www.google.com/",
    "https://shop.example/search?q=red+shoes",
    "https://www.instagram.com/",
    "-",
];

fn headers(rng: &mut Rng, with_cookie: bool) -> Vec<(String, String)> {
    let mut h = vec![
        ("Host".to_owned(), "shop.example".to_owned()),
        ("User-Agent".to_owned(), rng.pick(UAS).to_owned()),
        (
            "Accept".to_owned(),
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
                .to_owned(),
        ),
        (
            "Accept-Language".to_owned(),
            rng.pick(&[
                "en-GB,en;q=0.9",
                "de-DE,de;q=0.9,en;q=0.8",
                "fr-FR,fr;q=0.9",
            ])
            .to_owned(),
        ),
        ("Accept-Encoding".to_owned(), "gzip, deflate, br".to_owned()),
    ];
    let r = rng.pick(REFERERS);
    if r != "-" {
        h.push(("Referer".to_owned(), r.to_owned()));
    }
    if with_cookie {
        let sid = format!("{:016x}{:016x}", rng.next(), rng.next());
        let ga = format!(
            "GA1.1.{}.{}",
            rng.next() % 1_000_000_000,
            1_700_000_000 + rng.next() % 10_000_000
        );
        h.push((
            "Cookie".to_owned(),
            format!("session={sid}; _ga={ga}; cart_count={}; consent=%7B%22ads%22%3Afalse%2C%22stats%22%3Atrue%7D; lang=en", rng.below(5)),
        ));
    }
    h
}

fn req(
    method: &str,
    uri: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    ct: Option<&str>,
) -> InspectRequest {
    let mut headers = headers;
    if let Some(ct) = ct {
        headers.push(("Content-Type".to_owned(), ct.to_owned()));
        headers.push(("Content-Length".to_owned(), body.len().to_string()));
    }
    InspectRequest {
        method: method.to_owned(),
        uri,
        http_version: "HTTP/1.1".to_owned(),
        headers,
        body: Bytes::from(body),
        partial: false,
    }
}

/// The `i`-th benign request of the stream seeded by `rng`.
pub fn request(rng: &mut Rng) -> InspectRequest {
    let cookie = rng.below(10) < 8;
    let h = headers(rng, cookie);
    match rng.below(20) {
        0..=3 => req(
            "GET",
            format!("/product/{}", rng.pick(SLUGS)),
            h,
            Vec::new(),
            None,
        ),
        4..=5 => {
            let utm = if rng.below(3) == 0 {
                "&utm_source=newsletter&utm_medium=email&utm_campaign=summer_sale-2025"
            } else {
                ""
            };
            req(
                "GET",
                format!(
                    "/category/{}?page={}&sort={}{utm}",
                    rng.pick(CATEGORIES),
                    1 + rng.below(9),
                    rng.pick(&["price_asc", "price_desc", "newest", "popularity"])
                ),
                h,
                Vec::new(),
                None,
            )
        }
        6..=8 => req(
            "GET",
            format!("/search?q={}", form_encode(rng.pick(TERMS).as_bytes())),
            h,
            Vec::new(),
            None,
        ),
        9 => req(
            "GET",
            format!(
                "/category/{}?price_min={}&price_max={}&color={}",
                rng.pick(CATEGORIES),
                rng.below(50),
                50 + rng.below(500),
                rng.pick(&["red", "navy+blue", "black%2Fwhite", "green"])
            ),
            h,
            Vec::new(),
            None,
        ),
        10..=11 => {
            let body = format!(
                "product={}&qty={}&size={}",
                rng.pick(SLUGS),
                1 + rng.below(4),
                rng.pick(&["S", "M", "L", "XL", "42", "10.5"])
            );
            req(
                "POST",
                "/cart/add".to_owned(),
                h,
                body.into_bytes(),
                Some("application/x-www-form-urlencoded"),
            )
        }
        12 => {
            let body = format!(
                "{{\"items\":[{{\"sku\":\"{}\",\"quantity\":{},\"options\":{{\"size\":\"M\",\"gift_wrap\":{}}}}}],\"coupon\":{}}}",
                rng.pick(SLUGS),
                1 + rng.below(3),
                rng.below(2) == 0,
                if rng.below(4) == 0 {
                    "\"SUMMER-10\""
                } else {
                    "null"
                }
            );
            req(
                "POST",
                "/api/cart".to_owned(),
                h,
                body.into_bytes(),
                Some("application/json"),
            )
        }
        13 => {
            let name = rng.pick(NAMES);
            let body = format!(
                "first_name={}&last_name={}&email={}&address={}&city={}&zip={}&phone={}&notes={}&terms=on",
                form_encode(name.as_bytes()),
                form_encode(rng.pick(NAMES).as_bytes()),
                form_encode(b"jane.doe+shop@example.com"),
                form_encode(rng.pick(STREETS).as_bytes()),
                form_encode(
                    rng.pick(&["Paris", "London", "München", "Saint-Étienne"])
                        .as_bytes()
                ),
                rng.pick(&["75001", "NW1 6XE", "80331", "42000"]),
                form_encode(
                    rng.pick(&["+44 20 7946 0958", "(555) 123-4567", "+33 1 23 45 67 89"])
                        .as_bytes()
                ),
                form_encode(
                    rng.pick(&[
                        "Leave at the door, please!",
                        "Ring twice - dog inside :)",
                        "",
                        "2nd floor; code #1234"
                    ])
                    .as_bytes()
                ),
            );
            req(
                "POST",
                "/checkout".to_owned(),
                h,
                body.into_bytes(),
                Some("application/x-www-form-urlencoded"),
            )
        }
        14 => {
            let body = format!(
                "username={}&password={}&remember=1",
                form_encode(b"jane@example.com"),
                form_encode(
                    rng.pick(&[
                        "S3cr3t!#pass",
                        "correct horse battery staple",
                        "P@ss'w0rd;",
                        "hunter2"
                    ])
                    .as_bytes()
                )
            );
            req(
                "POST",
                "/login".to_owned(),
                h,
                body.into_bytes(),
                Some("application/x-www-form-urlencoded"),
            )
        }
        15 => req(
            "GET",
            format!(
                "/static/{}",
                rng.pick(&[
                    "app.3f9a1c.js",
                    "styles.min.css",
                    "img/logo.svg",
                    "fonts/inter-var.woff2",
                    "img/products/mug-1200x1200.webp"
                ])
            ),
            h,
            Vec::new(),
            None,
        ),
        16 => {
            let review = rng.pick(&[
                "Great shoes, fit perfectly! 5/5 would buy again.",
                "Colour is a bit darker than on the picture (more navy than blue) - still happy :)",
                "Don't order the XL if you're 1.80m; it's huge.",
                "Arrived in 2 days & well packed. Select the next size up!",
                "Works with my iPhone 15; the case's edges are sharp though.",
            ]);
            let body = format!(
                "rating={}&title={}&review={}",
                1 + rng.below(5),
                form_encode(b"Nice"),
                form_encode(review.as_bytes())
            );
            req(
                "POST",
                format!("/product/{}/reviews", rng.pick(SLUGS)),
                h,
                body.into_bytes(),
                Some("application/x-www-form-urlencoded"),
            )
        }
        17 => req(
            "GET",
            format!(
                "/api/products?ids={},{},{}&fields=name,price,stock&currency=EUR",
                rng.below(999),
                rng.below(999),
                rng.below(999)
            ),
            h,
            Vec::new(),
            None,
        ),
        18 => req(
            "GET",
            format!(
                "/account/orders/o{}?tab=tracking",
                100_000 + rng.below(900_000)
            ),
            h,
            Vec::new(),
            None,
        ),
        _ => req("GET", "/".to_owned(), h, Vec::new(), None),
    }
}
