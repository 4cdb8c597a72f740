//! Distances between where the client is (its IP address's location) and the billing and
//! shipping addresses: a stolen card is typically used from far away from its owner's address,
//! and goods are shipped to a drop far from both. Great-circle distances (haversine) in
//! kilometres, unknown when either end is unknown. Points are the platform's `GeoPoint`
//! (WGS 84 degrees), as delivery events use them.

use ensuresec_model::event::GeoPoint;

use crate::error::InputError;
use crate::features::{F, Features};
use crate::postal::PostalCentroids;
use crate::request::{Address, PaymentRequest};

/// Mean radius of the Earth (IUGG), in kilometres.
pub const EARTH_RADIUS_KM: f64 = 6_371.008_8;

/// Checks that `at` is on the Earth; `field` (such as `billing.location`) names the place in
/// errors.
pub fn validate(field: &str, at: GeoPoint) -> Result<(), InputError> {
    if !(-90.0..=90.0).contains(&at.lat) {
        return Err(InputError::new(
            format!("{field}.lat"),
            format!("{} is outside -90..=90 degrees", at.lat),
        ));
    }
    if !(-180.0..=180.0).contains(&at.lon) {
        return Err(InputError::new(
            format!("{field}.lon"),
            format!("{} is outside -180..=180 degrees", at.lon),
        ));
    }
    Ok(())
}

/// Great-circle distance between `a` and `b` in kilometres (haversine formula on a sphere of
/// [`EARTH_RADIUS_KM`]: within 0.5 % of the ellipsoidal distance, far finer than an IP
/// address's location).
pub fn haversine_km(a: GeoPoint, b: GeoPoint) -> f64 {
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let d_lat = lat2 - lat1;
    let d_lon = (b.lon - a.lon).to_radians();
    let h = (d_lat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (d_lon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// Where `address` is: its own `location`, else the centroid of its postal code when
/// `centroids` are loaded and list it.
pub fn place(address: &Address, centroids: Option<&PostalCentroids>) -> Option<GeoPoint> {
    address.location.or_else(|| {
        let code = address.postal_code.as_deref()?;
        centroids?.locate(&address.country, code)
    })
}

/// Sets the three distance features of `request`, with the client's location `ip_at` when it
/// is known (see [`crate::ip_location::IpLocator`]) and the addresses placed by [`place`]. A
/// distance with an unknown end stays unknown.
pub fn set_distances(
    features: &mut Features,
    request: &PaymentRequest,
    ip_at: Option<GeoPoint>,
    centroids: Option<&PostalCentroids>,
) {
    let billing = place(&request.billing, centroids);
    let shipping = request.shipping.as_ref().and_then(|s| place(s, centroids));
    let km = |a: Option<GeoPoint>, b: Option<GeoPoint>| match (a, b) {
        (Some(a), Some(b)) => haversine_km(a, b),
        _ => f64::NAN,
    };
    features.set(F::IpBillingKm, km(ip_at, billing));
    features.set(F::BillingShippingKm, km(billing, shipping));
    features.set(F::IpShippingKm, km(ip_at, shipping));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BERLIN: GeoPoint = GeoPoint {
        lat: 52.5200,
        lon: 13.4050,
    };
    const PARIS: GeoPoint = GeoPoint {
        lat: 48.8566,
        lon: 2.3522,
    };
    const SYDNEY: GeoPoint = GeoPoint {
        lat: -33.8688,
        lon: 151.2093,
    };

    #[test]
    fn known_distances() {
        // Published great-circle distances: Berlin–Paris 878 km, Berlin–Sydney 16,090 km.
        assert!((haversine_km(BERLIN, PARIS) - 878.0).abs() < 5.0);
        assert!((haversine_km(BERLIN, SYDNEY) - 16_090.0).abs() < 60.0);
        assert_eq!(haversine_km(PARIS, PARIS), 0.0);
    }

    #[test]
    fn out_of_range_coordinates_are_named() {
        let e = validate(
            "billing.location",
            GeoPoint {
                lat: 91.0,
                lon: 0.0,
            },
        )
        .expect_err("lat");
        assert_eq!(e.field, "billing.location.lat");
        let e = validate(
            "shipping.location",
            GeoPoint {
                lat: 0.0,
                lon: f64::NAN,
            },
        )
        .expect_err("lon");
        assert_eq!(e.field, "shipping.location.lon");
    }

    #[test]
    fn distances_are_set_when_both_ends_are_known() {
        let mut v = crate::request::tests::sample_json();
        v["billing"]["location"] = serde_json::json!({"lat": BERLIN.lat, "lon": BERLIN.lon});
        v["shipping"]["location"] = serde_json::json!({"lat": PARIS.lat, "lon": PARIS.lon});
        let request = PaymentRequest::from_json(v.to_string().as_bytes()).expect("valid");
        let mut f = Features::unknown();
        set_distances(&mut f, &request, Some(SYDNEY), None);
        assert!((f.get(F::BillingShippingKm) - haversine_km(BERLIN, PARIS)).abs() < 1e-9);
        assert!((f.get(F::IpBillingKm) - haversine_km(SYDNEY, BERLIN)).abs() < 1e-9);
        assert!((f.get(F::IpShippingKm) - haversine_km(SYDNEY, PARIS)).abs() < 1e-9);
        let mut f = Features::unknown();
        set_distances(&mut f, &request, None, None);
        assert!(f.get(F::IpBillingKm).is_nan() && f.get(F::IpShippingKm).is_nan());
        assert!(f.get(F::BillingShippingKm) > 800.0);
    }

    #[test]
    fn addresses_without_coordinates_are_placed_by_postal_code() {
        let centroids = PostalCentroids::from_reader(
            "postal.txt",
            "DE\t10115\tBerlin\t\t\t\t\t\t\t52.52\t13.405\t4\n\
             FR\t75001\tParis\t\t\t\t\t\t\t48.8566\t2.3522\t4\n"
                .as_bytes(),
        )
        .expect("centroids");
        let mut v = crate::request::tests::sample_json();
        v["billing"]["postal_code"] = "10115".into();
        v["shipping"]["country"] = "FR".into();
        v["shipping"]["postal_code"] = "75001".into();
        let request = PaymentRequest::from_json(v.to_string().as_bytes()).expect("valid");
        let mut f = Features::unknown();
        set_distances(&mut f, &request, Some(SYDNEY), Some(&centroids));
        assert!((f.get(F::BillingShippingKm) - haversine_km(BERLIN, PARIS)).abs() < 1.0);
        assert!((f.get(F::IpBillingKm) - haversine_km(SYDNEY, BERLIN)).abs() < 1.0);
        // Without centroids the postal codes place nothing.
        let mut f = Features::unknown();
        set_distances(&mut f, &request, Some(SYDNEY), None);
        assert!(f.get(F::BillingShippingKm).is_nan() && f.get(F::IpBillingKm).is_nan());
        // Coordinates in the request win over the postal code.
        v["billing"]["location"] = serde_json::json!({"lat": PARIS.lat, "lon": PARIS.lon});
        let request = PaymentRequest::from_json(v.to_string().as_bytes()).expect("valid");
        let mut f = Features::unknown();
        set_distances(&mut f, &request, None, Some(&centroids));
        assert!(f.get(F::BillingShippingKm) < 1.0);
    }

    proptest! {
        #[test]
        fn symmetric_and_bounded(
            lat1 in -90.0f64..=90.0, lon1 in -180.0f64..=180.0,
            lat2 in -90.0f64..=90.0, lon2 in -180.0f64..=180.0,
        ) {
            let a = GeoPoint { lat: lat1, lon: lon1 };
            let b = GeoPoint { lat: lat2, lon: lon2 };
            let d = haversine_km(a, b);
            prop_assert!(d >= 0.0);
            // No two points are further apart than half the circumference.
            prop_assert!(d <= std::f64::consts::PI * EARTH_RADIUS_KM + 1e-6);
            prop_assert!((d - haversine_km(b, a)).abs() < 1e-6);
        }
    }
}
