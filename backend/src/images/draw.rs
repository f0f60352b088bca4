//! Illustrations for products without a picture (the demo catalog's, or any catalog's): an SVG
//! with an icon chosen from the product's title (else its category) and coloured by the colour
//! words of its title, so ten headphones look like ten headphones in their own colours.

/// Keyword (whole words, lower case; a trailing `s` also matches) → icon file stem, most
/// specific first: the first keyword found in the title wins, then the first in the category.
const ICON_RULES: &[(&str, &str)] = &[
    ("stroller", "baby-carriage"),
    ("dog", "dog"),
    ("pet", "paw"),
    ("bike", "bike"),
    ("bicycle", "bike"),
    ("cycling", "bike"),
    ("helmet", "helmet"),
    ("earbud", "earphone-bluetooth"),
    ("earphone", "earphone-bluetooth"),
    ("headphone", "headphones"),
    ("headset", "headphones"),
    ("backpack", "backpack"),
    ("daypack", "backpack"),
    ("garment", "hanger"),
    ("luggage", "luggage"),
    ("suitcase", "luggage"),
    ("duffel", "luggage"),
    ("carry on", "luggage"),
    ("french press", "teapot"),
    ("kettle", "teapot"),
    ("espresso", "coffee"),
    ("coffee", "coffee"),
    ("knife", "tools-kitchen-2"),
    ("knives", "tools-kitchen-2"),
    ("sharpener", "tools-kitchen-2"),
    ("dutch oven", "cooker"),
    ("saucepan", "cooker"),
    ("cookware", "cooker"),
    ("pot", "cooker"),
    ("wok", "soup"),
    ("skillet", "soup"),
    ("pan", "soup"),
    ("shoe", "shoe"),
    ("sneaker", "shoe"),
    ("yoga", "yoga"),
    ("dumbbell", "dumbbell"),
    ("kettlebell", "dumbbell"),
    ("smart watch", "device-watch"),
    ("fitness tracker", "device-watch"),
    ("fitness", "stretching"),
    ("resistance band", "stretching"),
    ("foam roller", "stretching"),
    ("jump rope", "stretching"),
    ("lantern", "lamp"),
    ("tent", "tent"),
    ("sleeping bag", "tent"),
    ("chair", "armchair"),
    ("phone", "device-mobile"),
    ("magsafe", "device-mobile"),
    ("screen protector", "device-mobile"),
    ("sunscreen", "spray"),
    ("serum", "droplet"),
    ("moisturizer", "droplet"),
    ("cleanser", "droplet"),
    ("cream", "droplet"),
    ("skin", "droplet"),
    ("chess", "chess-knight"),
    ("puzzle", "puzzle"),
    ("card game", "cards"),
    ("mouse", "mouse"),
    ("keyboard", "keyboard"),
    ("controller", "device-gamepad-2"),
    ("gaming", "device-gamepad-2"),
    ("video game", "device-gamepad-2"),
    ("game", "dice-5"),
    ("saw", "tool"),
    ("drill", "hammer-drill"),
    ("driver", "hammer-drill"),
    ("sander", "tool"),
    ("tool kit", "tool"),
    ("multi tool", "tool"),
    ("power tool", "tool"),
    ("garden bed", "plant"),
    ("pillow", "pillow"),
    ("bed", "bed"),
    ("bedding", "bed"),
    ("sheet", "bed"),
    ("comforter", "bed"),
    ("duvet", "bed"),
    ("blanket", "bed"),
    ("mattress", "bed"),
    ("quilt", "bed"),
    ("chronograph", "stopwatch"),
    ("sports watch", "stopwatch"),
    ("watch", "clock"),
    ("shears", "scissors"),
    ("garden tool", "shovel"),
    ("shovel", "shovel"),
    ("planter", "plant"),
    ("seed", "plant"),
    ("garden", "plant"),
    ("gardening", "plant"),
    ("plant", "plant"),
    ("bottle", "bottle"),
    ("tumbler", "cup"),
    ("mug", "cup"),
    ("bulb", "bulb"),
    ("lamp", "lamp"),
    ("light", "bulb"),
    ("lighting", "bulb"),
    ("dress", "hanger"),
    ("shirt", "shirt"),
    ("lock", "lock"),
    ("camping", "tent"),
    ("hiking", "tent"),
];

/// The icon files, embedded: (stem, SVG source).
const ICONS: &[(&str, &str)] = &[
    ("armchair", include_str!("icons/armchair.svg")),
    ("baby-carriage", include_str!("icons/baby-carriage.svg")),
    ("backpack", include_str!("icons/backpack.svg")),
    ("bed", include_str!("icons/bed.svg")),
    ("bike", include_str!("icons/bike.svg")),
    ("bottle", include_str!("icons/bottle.svg")),
    ("bulb", include_str!("icons/bulb.svg")),
    ("cards", include_str!("icons/cards.svg")),
    ("chess-knight", include_str!("icons/chess-knight.svg")),
    ("clock", include_str!("icons/clock.svg")),
    ("coffee", include_str!("icons/coffee.svg")),
    ("cooker", include_str!("icons/cooker.svg")),
    ("cup", include_str!("icons/cup.svg")),
    (
        "device-gamepad-2",
        include_str!("icons/device-gamepad-2.svg"),
    ),
    ("device-mobile", include_str!("icons/device-mobile.svg")),
    ("device-watch", include_str!("icons/device-watch.svg")),
    ("dice-5", include_str!("icons/dice-5.svg")),
    ("dog", include_str!("icons/dog.svg")),
    ("droplet", include_str!("icons/droplet.svg")),
    ("dumbbell", include_str!("icons/dumbbell.svg")),
    (
        "earphone-bluetooth",
        include_str!("icons/earphone-bluetooth.svg"),
    ),
    ("hammer-drill", include_str!("icons/hammer-drill.svg")),
    ("hanger", include_str!("icons/hanger.svg")),
    ("headphones", include_str!("icons/headphones.svg")),
    ("helmet", include_str!("icons/helmet.svg")),
    ("keyboard", include_str!("icons/keyboard.svg")),
    ("lamp", include_str!("icons/lamp.svg")),
    ("lock", include_str!("icons/lock.svg")),
    ("luggage", include_str!("icons/luggage.svg")),
    ("mouse", include_str!("icons/mouse.svg")),
    ("package", include_str!("icons/package.svg")),
    ("paw", include_str!("icons/paw.svg")),
    ("pillow", include_str!("icons/pillow.svg")),
    ("plant", include_str!("icons/plant.svg")),
    ("puzzle", include_str!("icons/puzzle.svg")),
    ("scissors", include_str!("icons/scissors.svg")),
    ("shirt", include_str!("icons/shirt.svg")),
    ("shoe", include_str!("icons/shoe.svg")),
    ("shovel", include_str!("icons/shovel.svg")),
    ("soup", include_str!("icons/soup.svg")),
    ("spray", include_str!("icons/spray.svg")),
    ("stopwatch", include_str!("icons/stopwatch.svg")),
    ("stretching", include_str!("icons/stretching.svg")),
    ("teapot", include_str!("icons/teapot.svg")),
    ("tent", include_str!("icons/tent.svg")),
    ("tool", include_str!("icons/tool.svg")),
    ("tools-kitchen-2", include_str!("icons/tools-kitchen-2.svg")),
    ("yoga", include_str!("icons/yoga.svg")),
];

/// Colour words (lower case, longest first so "navy blue" beats "blue") and their RGB.
const COLOURS: &[(&str, [u8; 3])] = &[
    ("forest green", [0x2f, 0x6b, 0x3a]),
    ("navy blue", [0x1f, 0x2f, 0x5c]),
    ("rose gold", [0xc9, 0x8b, 0x7b]),
    ("sky blue", [0x5b, 0xa4, 0xd9]),
    ("burgundy", [0x7a, 0x1f, 0x35]),
    ("charcoal", [0x3a, 0x3f, 0x44]),
    ("lavender", [0x9a, 0x86, 0xc9]),
    ("turquoise", [0x2a, 0xb3, 0xad]),
    ("orange", [0xe0, 0x7a, 0x1f]),
    ("purple", [0x6e, 0x3d, 0x9c]),
    ("silver", [0xa8, 0xad, 0xb4]),
    ("yellow", [0xe3, 0xb5, 0x1b]),
    ("olive", [0x6b, 0x70, 0x2c]),
    ("beige", [0xd8, 0xc3, 0x9e]),
    ("black", [0x22, 0x22, 0x26]),
    ("brown", [0x7a, 0x4e, 0x2d]),
    ("coral", [0xe8, 0x6f, 0x5e]),
    ("green", [0x2e, 0x8b, 0x4a]),
    ("white", [0xf4, 0xf4, 0xf2]),
    ("khaki", [0xb5, 0xa6, 0x74]),
    ("ivory", [0xf0, 0xea, 0xd6]),
    ("cream", [0xee, 0xe4, 0xc8]),
    ("pink", [0xe5, 0x8a, 0xb0]),
    ("navy", [0x1f, 0x2f, 0x5c]),
    ("grey", [0x86, 0x8b, 0x91]),
    ("gray", [0x86, 0x8b, 0x91]),
    ("teal", [0x1d, 0x7f, 0x86]),
    ("blue", [0x2c, 0x63, 0xc4]),
    ("gold", [0xc9, 0xa2, 0x3c]),
    ("red", [0xc8, 0x2f, 0x2f]),
    ("tan", [0xc2, 0x9b, 0x6c]),
];

/// Accent colours for titles that name no colour, picked by the product's asin.
const ACCENTS: &[[u8; 3]] = &[
    [0x2c, 0x63, 0xc4],
    [0x1d, 0x7f, 0x86],
    [0x6e, 0x3d, 0x9c],
    [0xc8, 0x5a, 0x1f],
    [0x2e, 0x8b, 0x4a],
    [0x9c, 0x2f, 0x5a],
];

/// The title (or category) as ` word word ` in lower case, punctuation as spaces.
fn words(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(' ');
    for c in text.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out
}

fn has_word(words: &str, key: &str) -> bool {
    words.contains(&format!(" {key} ")) || words.contains(&format!(" {key}s "))
}

/// The icon stem for a product: the first rule found in its title, else in its category.
pub fn icon_for(title: &str, category: &str) -> &'static str {
    for text in [title, category] {
        let w = words(text);
        if let Some((_, icon)) = ICON_RULES.iter().find(|(k, _)| has_word(&w, k)) {
            return icon;
        }
    }
    "package"
}

/// The colour a title names, if any (`None` when it names none).
pub fn colour_of(title: &str) -> Option<(&'static str, [u8; 3])> {
    let w = words(title);
    COLOURS
        .iter()
        .find(|(k, _)| w.contains(&format!(" {k} ")))
        .map(|&(k, rgb)| (k, rgb))
}

fn mix(a: [u8; 3], b: [u8; 3], t: f32) -> String {
    let c = |i: usize| (a[i] as f32 * (1.0 - t) + b[i] as f32 * t).round() as u8;
    format!("#{:02x}{:02x}{:02x}", c(0), c(1), c(2))
}

fn luminance(c: [u8; 3]) -> f32 {
    (0.2126 * c[0] as f32 + 0.7152 * c[1] as f32 + 0.0722 * c[2] as f32) / 255.0
}

/// The inner elements of an icon file (everything inside its `<svg …>` element).
fn icon_body(stem: &str) -> &'static str {
    let src = ICONS
        .iter()
        .find(|(s, _)| *s == stem)
        .map(|(_, src)| *src)
        .unwrap_or(ICONS[0].1);
    let start = src
        .find("<svg")
        .and_then(|i| src[i..].find('>').map(|j| i + j + 1));
    let end = src.rfind("</svg>");
    match (start, end) {
        (Some(s), Some(e)) if s < e => &src[s..e],
        _ => "",
    }
}

/// Escapes text for an SVG `<title>`.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The illustration of one product, a 320×240 SVG document (the app's cards are 4:3).
pub fn illustration(asin: &str, title: &str, category: &str) -> String {
    let base = colour_of(title).map(|(_, c)| c).unwrap_or_else(|| {
        let h = asin
            .bytes()
            .fold(0usize, |h, b| h.wrapping_mul(31) + b as usize);
        ACCENTS[h % ACCENTS.len()]
    });
    let white = [255, 255, 255];
    let light = luminance(base) > 0.72;
    // A light product (white, beige, silver) gets a darker outline and a cooler backdrop so it
    // still stands out; a dark one sits on a pale tint of itself.
    let (bg_top, bg_bottom, disc, stroke) = if light {
        (
            "#e9edf2".to_owned(),
            "#d5dbe3".to_owned(),
            mix(base, white, 0.0),
            mix(base, [0x30, 0x34, 0x3a], 0.7),
        )
    } else {
        (
            mix(base, white, 0.9),
            mix(base, white, 0.78),
            mix(base, white, 0.62),
            mix(base, [0, 0, 0], 0.1),
        )
    };
    let icon = icon_body(icon_for(title, category));
    format!(
        concat!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240" viewBox="0 0 320 240">"##,
            r##"<title>{title}</title>"##,
            r##"<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1">"##,
            r##"<stop offset="0" stop-color="{bg_top}"/><stop offset="1" stop-color="{bg_bottom}"/>"##,
            r##"</linearGradient></defs>"##,
            r##"<rect width="320" height="240" fill="url(#g)"/>"##,
            r##"<ellipse cx="160" cy="204" rx="66" ry="9" fill="#000" fill-opacity="0.08"/>"##,
            r##"<circle cx="160" cy="114" r="78" fill="{disc}"/>"##,
            r##"<g transform="translate(100 54) scale(5)" fill="none" stroke="{stroke}" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round">{icon}</g>"##,
            r##"</svg>"##
        ),
        title = escape(title),
        bg_top = bg_top,
        bg_bottom = bg_bottom,
        disc = disc,
        stroke = stroke,
        icon = icon,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icons_follow_the_title_then_the_category() {
        assert_eq!(
            icon_for("Bluetooth Earbuds by Sonivo", "Headphones"),
            "earphone-bluetooth"
        );
        assert_eq!(
            icon_for("Sonivo Over-Ear Headphones", "Headphones"),
            "headphones"
        );
        assert_eq!(icon_for("Pawly Dog Bed, Large", "Dog Supplies"), "dog");
        assert_eq!(
            icon_for("Casual T-Shirt Dress", "Women's Dresses"),
            "hanger"
        );
        assert_eq!(
            icon_for("Jigsaw Puzzle 1000 Pieces", "Board Games"),
            "puzzle"
        );
        assert_eq!(icon_for("Expandable Duffel", "x"), "luggage");
        // "pan" is a word, not a part of "Expandable".
        assert_eq!(icon_for("Expandable Suitcase", "Luggage"), "luggage");
        assert_eq!(
            icon_for("Charging Station", "Video Game Accessories"),
            "device-gamepad-2"
        );
        assert_eq!(icon_for("Something", "Misc"), "package");
        assert_eq!(icon_for("Raised Garden Bed", "Gardening"), "plant");
        assert_eq!(icon_for("42mm Fitness Tracker", "Watches"), "device-watch");
        for (_, icon) in ICON_RULES {
            assert!(ICONS.iter().any(|(s, _)| s == icon), "{icon} is embedded");
        }
    }

    #[test]
    fn colours_come_from_the_title() {
        assert_eq!(
            colour_of("Backpack, Navy Blue").map(|c| c.0),
            Some("navy blue")
        );
        assert_eq!(colour_of("Mug (Rose Gold)").map(|c| c.0), Some("rose gold"));
        assert_eq!(colour_of("Redwood chair"), None);
        let red = illustration("A1", "Kettle, Red", "Kitchen");
        let black = illustration("A1", "Kettle, Black", "Kitchen");
        assert_ne!(red, black);
        assert!(red.starts_with("<svg") && red.ends_with("</svg>"));
        assert!(red.contains("<title>Kettle, Red</title>"));
        assert!(illustration("A1", "a < b & c", "x").contains("a &lt; b &amp; c"));
    }
}
