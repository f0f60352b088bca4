//! The demo catalog: a deterministic generator of marketplace-style products from hand-written
//! vocabularies (no scraped or downloaded data). `backend/demo/*.csv` is its committed output.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use std::path::Path;

pub const DEMO_SEED: u64 = 2024;
pub const DEMO_PRODUCTS: usize = 1200;

pub struct DemoRow {
    pub asin: String,
    pub title: String,
    pub img_url: String,
    pub product_url: String,
    pub stars: f64,
    pub reviews: i64,
    pub price: f64,
    pub list_price: f64,
    pub category_id: i64,
    pub is_best_seller: bool,
    pub bought_in_last_month: i64,
}

pub struct DemoCatalog {
    pub categories: Vec<(i64, String)>,
    pub rows: Vec<DemoRow>,
}

/// A category: name, price range, product nouns, features, and what to say about size.
struct Spec {
    name: &'static str,
    price: (f64, f64),
    nouns: &'static [&'static str],
    features: &'static [&'static str],
    sizes: &'static [&'static str],
}

const COLOURS: &[&str] = &[
    "Black",
    "Navy Blue",
    "Grey",
    "White",
    "Red",
    "Forest Green",
    "Rose Gold",
    "Beige",
    "Charcoal",
    "Teal",
    "Silver",
    "Burgundy",
];
const BRANDS: &[&str] = &[
    "Travelux",
    "Northpeak",
    "Kitchora",
    "Sonivo",
    "Brewhaus",
    "Strideon",
    "Pawly",
    "Campwise",
    "Ergonest",
    "Lumora",
    "Glowen",
    "Playtide",
    "Torqix",
    "Dreamloft",
    "Tickwell",
    "Packrite",
    "Verdana Grove",
    "Strollio",
    "Gamerig",
    "Hydrava",
    "Brightly",
    "Panmaster",
    "Pedalon",
    "Modaline",
    "Zenfit",
    "Cozyhaus",
];

const SPECS: &[Spec] = &[
    Spec {
        name: "Luggage & Travel Gear",
        price: (39.0, 329.0),
        nouns: &[
            "Hardside Spinner Luggage",
            "Softside Expandable Suitcase",
            "Carry-On Luggage",
            "Checked Suitcase",
            "Luggage Set 3 Piece",
            "Rolling Duffel Bag",
            "Travel Garment Bag",
        ],
        features: &[
            "TSA Approved Lock",
            "360° Spinner Wheels",
            "Expandable",
            "Lightweight Polycarbonate",
            "USB Charging Port",
            "Scratch Resistant",
        ],
        sizes: &[
            "20\"",
            "24\"",
            "28\"",
            "Carry-On 22 Inch",
            "Checked-Large 29-Inch",
        ],
    },
    Spec {
        name: "Backpacks",
        price: (19.0, 149.0),
        nouns: &[
            "Travel Backpack",
            "Laptop Backpack",
            "Hiking Daypack",
            "School Backpack",
            "Anti-Theft Backpack",
            "Carry-On Travel Backpack",
        ],
        features: &[
            "Water Resistant",
            "USB Charging Port",
            "Fits 15.6 Inch Laptop",
            "Flight Approved",
            "Padded Shoulder Straps",
            "Hidden Pocket",
        ],
        sizes: &["25L", "30L", "40L", "Large", "Slim"],
    },
    Spec {
        name: "Headphones",
        price: (19.0, 349.0),
        nouns: &[
            "Wireless Noise Cancelling Headphones",
            "Bluetooth Earbuds",
            "Over-Ear Headphones",
            "Sports Earphones",
            "Open-Ear Headphones",
            "Kids Headphones",
        ],
        features: &[
            "40H Playtime",
            "Hi-Res Audio",
            "Built-in Microphone",
            "IPX5 Waterproof",
            "Fast Charging",
            "Deep Bass",
        ],
        sizes: &["Foldable", "Compact", "Over-Ear", "In-Ear"],
    },
    Spec {
        name: "Coffee Makers",
        price: (24.0, 499.0),
        nouns: &[
            "Drip Coffee Maker",
            "Espresso Machine",
            "Single Serve Coffee Maker",
            "French Press",
            "Pour Over Coffee Dripper",
            "Cold Brew Coffee Maker",
            "Burr Coffee Grinder",
        ],
        features: &[
            "Programmable",
            "Milk Frother",
            "Thermal Carafe",
            "Auto Shut-Off",
            "Stainless Steel",
            "Brew Strength Control",
        ],
        sizes: &["12 Cup", "5 Cup", "34 oz", "1.5 L", "Single Serve"],
    },
    Spec {
        name: "Kitchen Knives",
        price: (14.0, 229.0),
        nouns: &[
            "Chef Knife",
            "Knife Set with Block",
            "Santoku Knife",
            "Paring Knife Set",
            "Bread Knife",
            "Steak Knives Set",
            "Knife Sharpener",
        ],
        features: &[
            "High Carbon Stainless Steel",
            "Ergonomic Handle",
            "Full Tang",
            "Razor Sharp",
            "Dishwasher Safe",
            "Gift Box",
        ],
        sizes: &["8 Inch", "15 Piece", "7 Inch", "6 Piece", "3.5 Inch"],
    },
    Spec {
        name: "Cookware",
        price: (19.0, 399.0),
        nouns: &[
            "Nonstick Frying Pan",
            "Cast Iron Skillet",
            "Cookware Set",
            "Dutch Oven",
            "Stainless Steel Saucepan",
            "Wok with Lid",
            "Grill Pan",
        ],
        features: &[
            "Induction Compatible",
            "Oven Safe",
            "PFOA Free",
            "Pre-Seasoned",
            "Tri-Ply",
            "Stay-Cool Handle",
        ],
        sizes: &["10 Inch", "12 Inch", "10 Piece", "5.5 Quart", "2 Quart"],
    },
    Spec {
        name: "Running Shoes",
        price: (29.0, 189.0),
        nouns: &[
            "Men's Running Shoes",
            "Women's Running Shoes",
            "Trail Running Shoes",
            "Lightweight Sneakers",
            "Road Running Shoes",
            "Walking Shoes",
        ],
        features: &[
            "Breathable Mesh",
            "Cushioned Sole",
            "Non Slip",
            "Arch Support",
            "Wide Toe Box",
            "Responsive Foam",
        ],
        sizes: &["Size 9", "Size 10", "Size 8", "Size 11", "Size 7.5"],
    },
    Spec {
        name: "Yoga & Fitness",
        price: (9.0, 199.0),
        nouns: &[
            "Yoga Mat",
            "Resistance Bands Set",
            "Adjustable Dumbbells",
            "Foam Roller",
            "Jump Rope",
            "Kettlebell",
            "Yoga Block 2 Pack",
        ],
        features: &[
            "Non Slip",
            "Extra Thick",
            "Eco Friendly TPE",
            "With Carrying Strap",
            "Home Workout",
            "Anti-Tear",
        ],
        sizes: &["6mm", "72\" x 24\"", "25 lb", "13 Inch", "Set of 5"],
    },
    Spec {
        name: "Dog Supplies",
        price: (7.0, 129.0),
        nouns: &[
            "Dog Bed",
            "Dog Leash",
            "No Pull Dog Harness",
            "Dog Chew Toys",
            "Automatic Pet Feeder",
            "Dog Crate",
            "Dog Grooming Brush",
        ],
        features: &[
            "Orthopedic",
            "Reflective",
            "Washable Cover",
            "Durable",
            "Adjustable",
            "For Large Dogs",
        ],
        sizes: &["Large", "Medium", "Small", "36 Inch", "6 ft"],
    },
    Spec {
        name: "Camping & Hiking",
        price: (12.0, 399.0),
        nouns: &[
            "Camping Tent",
            "Sleeping Bag",
            "Hiking Backpack",
            "Camping Lantern",
            "Camping Chair",
            "Trekking Poles",
            "Water Filter Straw",
        ],
        features: &[
            "Waterproof",
            "Instant Setup",
            "Lightweight",
            "4 Season",
            "Rechargeable",
            "Compact",
        ],
        sizes: &["4 Person", "2 Person", "65L", "Ultralight", "Family Size"],
    },
    Spec {
        name: "Office Chairs",
        price: (59.0, 599.0),
        nouns: &[
            "Ergonomic Office Chair",
            "Mesh Desk Chair",
            "Gaming Chair",
            "Executive Office Chair",
            "Drafting Chair",
            "Kneeling Chair",
        ],
        features: &[
            "Lumbar Support",
            "Adjustable Armrests",
            "Headrest",
            "Swivel",
            "High Back",
            "Breathable Mesh",
        ],
        sizes: &["Big and Tall", "Mid Back", "High Back", "Compact"],
    },
    Spec {
        name: "Phone Cases",
        price: (6.0, 59.0),
        nouns: &[
            "Phone Case",
            "Wallet Phone Case",
            "Clear Phone Case",
            "Rugged Phone Case",
            "MagSafe Case",
            "Screen Protector 3 Pack",
        ],
        features: &[
            "Shockproof",
            "Slim Fit",
            "Military Grade Drop Protection",
            "Card Holder",
            "Anti-Yellowing",
            "Kickstand",
        ],
        sizes: &[
            "6.1 Inch",
            "6.7 Inch",
            "for iPhone 15",
            "for Galaxy S24",
            "for Pixel 8",
        ],
    },
    Spec {
        name: "Skin Care",
        price: (6.0, 89.0),
        nouns: &[
            "Facial Moisturizer",
            "Vitamin C Serum",
            "Hyaluronic Acid Serum",
            "Sunscreen SPF 50",
            "Retinol Night Cream",
            "Gentle Face Cleanser",
            "Eye Cream",
        ],
        features: &[
            "Fragrance Free",
            "For Sensitive Skin",
            "Non-Comedogenic",
            "Dermatologist Tested",
            "Hydrating",
            "Vegan",
        ],
        sizes: &["1 fl oz", "1.7 oz", "8 fl oz", "2 Pack", "50 ml"],
    },
    Spec {
        name: "Board Games",
        price: (9.0, 79.0),
        nouns: &[
            "Strategy Board Game",
            "Family Board Game",
            "Card Game",
            "Party Game",
            "Cooperative Board Game",
            "Jigsaw Puzzle 1000 Pieces",
            "Chess Set",
        ],
        features: &[
            "For Adults and Kids",
            "2-6 Players",
            "Ages 8+",
            "Quick to Learn",
            "Game Night",
            "Travel Edition",
        ],
        sizes: &["Deluxe Edition", "Standard", "Travel Size", "Expansion"],
    },
    Spec {
        name: "Power Tools",
        price: (29.0, 399.0),
        nouns: &[
            "Cordless Drill Driver",
            "Impact Driver",
            "Circular Saw",
            "Random Orbit Sander",
            "Oscillating Multi-Tool",
            "Jigsaw",
            "Rotary Tool Kit",
        ],
        features: &[
            "20V Max",
            "Brushless Motor",
            "2 Batteries Included",
            "Variable Speed",
            "LED Light",
            "With Carrying Case",
        ],
        sizes: &["1/2 Inch", "7-1/4 Inch", "5 Inch", "Kit", "Tool Only"],
    },
    Spec {
        name: "Bedding",
        price: (19.0, 249.0),
        nouns: &[
            "Bed Sheet Set",
            "Down Alternative Comforter",
            "Memory Foam Pillow",
            "Duvet Cover Set",
            "Weighted Blanket",
            "Mattress Topper",
            "Quilt Set",
        ],
        features: &[
            "Breathable",
            "Cooling",
            "Hypoallergenic",
            "Deep Pocket",
            "Machine Washable",
            "Ultra Soft Microfiber",
        ],
        sizes: &["Queen", "King", "Twin", "Full", "California King"],
    },
    Spec {
        name: "Watches",
        price: (19.0, 499.0),
        nouns: &[
            "Men's Analog Watch",
            "Women's Quartz Watch",
            "Smart Watch",
            "Fitness Tracker",
            "Chronograph Watch",
            "Digital Sports Watch",
        ],
        features: &[
            "Water Resistant",
            "Stainless Steel Band",
            "Heart Rate Monitor",
            "Sapphire Glass",
            "Luminous Hands",
            "Leather Strap",
        ],
        sizes: &["40mm", "42mm", "44mm", "36mm", "Large Face"],
    },
    Spec {
        name: "Gardening",
        price: (6.0, 199.0),
        nouns: &[
            "Expandable Garden Hose",
            "Raised Garden Bed",
            "Pruning Shears",
            "Garden Kneeler and Seat",
            "Seed Starter Kit",
            "Outdoor Planter",
            "Garden Tool Set",
        ],
        features: &[
            "Heavy Duty",
            "Rust Resistant",
            "Ergonomic Grip",
            "Weather Resistant",
            "With Drainage Holes",
            "Galvanized Steel",
        ],
        sizes: &["50 ft", "8x4x1 ft", "10 Piece", "12 Inch", "Large"],
    },
    Spec {
        name: "Baby Strollers",
        price: (49.0, 799.0),
        nouns: &[
            "Lightweight Stroller",
            "Jogging Stroller",
            "Travel System Stroller with Car Seat",
            "Double Stroller",
            "Compact Travel Stroller",
            "Stroller Organizer",
        ],
        features: &[
            "One Hand Fold",
            "Reclining Seat",
            "Large Storage Basket",
            "All Terrain Wheels",
            "Airplane Friendly",
            "UPF 50+ Canopy",
        ],
        sizes: &["Newborn to 50 lb", "Compact", "Full Size", "Twin"],
    },
    Spec {
        name: "Video Game Accessories",
        price: (9.0, 179.0),
        nouns: &[
            "Wireless Controller",
            "Gaming Headset",
            "Charging Station",
            "Gaming Mouse",
            "Mechanical Gaming Keyboard",
            "Controller Grip Case",
            "Gaming Mouse Pad",
        ],
        features: &[
            "RGB Backlit",
            "Low Latency",
            "Rechargeable",
            "Programmable Buttons",
            "Noise Cancelling Mic",
            "Ergonomic",
        ],
        sizes: &[
            "for PS5",
            "for Xbox Series X",
            "for Nintendo Switch",
            "for PC",
            "XXL",
        ],
    },
    Spec {
        name: "Water Bottles",
        price: (8.0, 49.0),
        nouns: &[
            "Insulated Water Bottle",
            "Stainless Steel Tumbler",
            "Sports Water Bottle",
            "Collapsible Water Bottle",
            "Kids Water Bottle",
            "Glass Water Bottle",
        ],
        features: &[
            "Leak Proof",
            "BPA Free",
            "Keeps Cold 24 Hours",
            "With Straw Lid",
            "Dishwasher Safe",
            "Time Marker",
        ],
        sizes: &["32 oz", "40 oz", "24 oz", "1 Liter", "18 oz"],
    },
    Spec {
        name: "Lighting",
        price: (9.0, 199.0),
        nouns: &[
            "LED Desk Lamp",
            "Floor Lamp",
            "Smart LED Bulbs 4 Pack",
            "LED Strip Lights",
            "Table Lamp Set of 2",
            "Solar Outdoor Lights",
            "Night Light",
        ],
        features: &[
            "Dimmable",
            "USB Charging Port",
            "Color Changing",
            "Works with Alexa",
            "Eye Caring",
            "Motion Sensor",
        ],
        sizes: &["60W Equivalent", "32.8 ft", "Set of 2", "65 Inch", "8 Pack"],
    },
    Spec {
        name: "Bicycles & Accessories",
        price: (9.0, 899.0),
        nouns: &[
            "Mountain Bike",
            "Road Bike Helmet",
            "Bike Lights Set",
            "Bike Lock",
            "Hybrid Bike",
            "Bike Phone Mount",
            "Cycling Gloves",
        ],
        features: &[
            "Lightweight Aluminum Frame",
            "21 Speed",
            "USB Rechargeable",
            "Anti-Theft",
            "Adjustable Fit",
            "Shockproof",
        ],
        sizes: &["26 Inch", "29 Inch", "Medium", "Large", "Universal"],
    },
    Spec {
        name: "Women's Dresses",
        price: (19.0, 129.0),
        nouns: &[
            "Summer Maxi Dress",
            "Casual T-Shirt Dress",
            "Wrap Midi Dress",
            "Cocktail Dress",
            "Floral Sundress",
            "Sweater Dress",
        ],
        features: &[
            "Short Sleeve",
            "With Pockets",
            "V Neck",
            "Flowy",
            "Stretchy",
            "Casual Loose Fit",
        ],
        sizes: &["Small", "Medium", "Large", "X-Large", "Plus Size"],
    },
];

fn asin(rng: &mut impl Rng) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut s = String::from("D");
    for _ in 0..9 {
        s.push(CHARS[rng.random_range(0..CHARS.len())] as char);
    }
    s
}

fn title(rng: &mut impl Rng, spec: &Spec) -> String {
    let brand = BRANDS.choose(rng).expect("brands");
    let noun = spec.nouns.choose(rng).expect("nouns");
    let f1 = spec.features.choose(rng).expect("features");
    let mut f2 = spec.features.choose(rng).expect("features");
    if f2 == f1 {
        f2 = &spec.features[0];
    }
    let size = spec.sizes.choose(rng).expect("sizes");
    let colour = COLOURS.choose(rng).expect("colours");
    match rng.random_range(0..4) {
        0 => format!("{brand} {noun}, {f1}, {size}, {colour}"),
        1 => format!("{brand} {f1} {noun} with {f2} - {size} ({colour})"),
        2 => format!("{noun} by {brand} | {f1} | {f2} | {size}"),
        _ => format!("{brand} {size} {noun}, {f1} and {f2}, {colour}"),
    }
}

/// Products in `SPECS`' categories, `n` in all, the same for the same seed.
pub fn generate(seed: u64, n: usize) -> DemoCatalog {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let categories: Vec<(i64, String)> = SPECS
        .iter()
        .enumerate()
        .map(|(i, s)| (i as i64 + 1, s.name.to_owned()))
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % SPECS.len();
        let spec = &SPECS[c];
        let mut a = asin(&mut rng);
        while !seen.insert(a.clone()) {
            a = asin(&mut rng);
        }
        // Heavy tails: most products have few reviews and sales, a few have many.
        let pop: f64 = rng.random::<f64>().powi(3);
        let reviews = (pop * 20_000.0) as i64 + rng.random_range(0..40);
        let bought = [0, 0, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10000]
            [((pop * 10.0) as usize + rng.random_range(0..2)).min(10)];
        let (lo, hi) = spec.price;
        let price = ((lo + (hi - lo) * rng.random::<f64>().powi(2)).floor()
            + if rng.random_bool(0.7) { 0.99 } else { 0.49 })
        .min(hi);
        let list_price = if rng.random_bool(0.4) {
            ((price * rng.random_range(1.1..1.6)).floor() + 0.99).max(price + 1.0)
        } else {
            0.0
        };
        let stars = (rng.random_range(3.6..4.9f64) * 10.0).round() / 10.0;
        rows.push(DemoRow {
            product_url: format!("https://example.com/dp/{a}"),
            asin: a,
            title: title(&mut rng, spec),
            img_url: String::new(),
            stars: if rng.random_bool(0.03) {
                (rng.random_range(1.0..3.5f64) * 10.0).round() / 10.0
            } else {
                stars
            },
            reviews,
            price: (price * 100.0).round() / 100.0,
            list_price: (list_price * 100.0).round() / 100.0,
            category_id: c as i64 + 1,
            is_best_seller: rng.random_bool(0.03),
            bought_in_last_month: bought,
        });
    }
    DemoCatalog { categories, rows }
}

/// Writes `amazon_products.csv` and `amazon_categories.csv` into `dir`, atomically.
pub fn write_csv(catalog: &DemoCatalog, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let to_io = |e: crate::Error| std::io::Error::other(e.to_string());
    crate::layout::write_atomic(&dir.join("amazon_products.csv"), |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(crate::catalog::COLUMNS)?;
        for r in &catalog.rows {
            out.write_record([
                r.asin.as_str(),
                &r.title,
                &r.img_url,
                &r.product_url,
                &format!("{:.1}", r.stars),
                &r.reviews.to_string(),
                &format!("{:.2}", r.price),
                &format!("{:.2}", r.list_price),
                &r.category_id.to_string(),
                if r.is_best_seller { "True" } else { "False" },
                &r.bought_in_last_month.to_string(),
            ])?;
        }
        out.flush()
    })
    .map_err(to_io)?;
    crate::layout::write_atomic(&dir.join("amazon_categories.csv"), |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(["id", "category_name"])?;
        for (id, name) in &catalog.categories {
            out.write_record([id.to_string().as_str(), name])?;
        }
        out.flush()
    })
    .map_err(to_io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_deterministic_and_well_formed() {
        let a = generate(DEMO_SEED, DEMO_PRODUCTS);
        let b = generate(DEMO_SEED, DEMO_PRODUCTS);
        assert_eq!(
            a.rows.iter().map(|r| &r.title).collect::<Vec<_>>(),
            b.rows.iter().map(|r| &r.title).collect::<Vec<_>>()
        );
        assert!(a.rows.len() >= 1000 && a.categories.len() >= 20);
        let asins: std::collections::HashSet<_> = a.rows.iter().map(|r| &r.asin).collect();
        assert_eq!(asins.len(), a.rows.len());
        for (id, _) in &a.categories {
            assert!(a.rows.iter().filter(|r| r.category_id == *id).count() >= 20);
        }
        assert!(
            a.rows
                .iter()
                .all(|r| r.list_price == 0.0 || r.list_price > r.price)
        );
    }

    #[test]
    fn committed_csv_is_the_generator_output() {
        let dir = tempfile::tempdir().unwrap();
        write_csv(&generate(DEMO_SEED, DEMO_PRODUCTS), dir.path()).unwrap();
        for f in ["amazon_products.csv", "amazon_categories.csv"] {
            let committed =
                std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("demo").join(f)).unwrap();
            assert!(
                committed == std::fs::read(dir.path().join(f)).unwrap(),
                "{f} differs from `recall-lab demo-catalog` output"
            );
        }
    }
}
