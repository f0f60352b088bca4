//! Building a Milvus collection for one build: create it (row, asin, category, price, stars,
//! vector), insert in batches with progress, flush, index it (IVF_FLAT by default) with the
//! build's nlist, load;
//! and publishing it under the data dir's alias once the manifest names it.

use super::{CONSISTENCY, MilvusIndex, MilvusIndexType, VECTOR_FIELD, connect, failed, wait};
use crate::error::{Error, Result};
use crate::rows::RowStore;
use milvus::v2::prelude::*;
use std::collections::HashMap;

/// Rows per insert call: about 1.6 MB of vectors at 384 dimensions, far below gRPC's message
/// limit, and large enough that the call's fixed cost is small.
const INSERT_BATCH: usize = 1_000;
/// asins are short product ids; a generous bound for catalogs that bring their own.
const ASIN_MAX_LEN: u32 = 512;

/// Where and under which names a build goes.
pub struct BuildTarget<'a> {
    pub uri: &'a str,
    pub alias: &'a str,
    pub build_id: &'a str,
    pub nlist: usize,
    pub index_type: MilvusIndexType,
}

/// A collection name Milvus accepts: letters, digits and underscores, not starting with a
/// digit.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::param(
            "collection",
            format!(
                "{name:?} is not a Milvus name: use letters, digits and underscores, not starting with a digit"
            ),
        ))
    }
}

fn schema(dim: usize) -> CollectionSchema {
    let field = |name: &str, t: DataType| FieldSchema::new().name(name).data_type(t);
    CollectionSchema::new()
        // Without dynamic fields a filter on a field the collection lacks is an error, not a
        // silent match on nothing.
        .enable_dynamic_field(false)
        .add_field(
            field("id", DataType::Int64)
                .primary_key(true)
                .auto_id(false),
        )
        .add_field(field("asin", DataType::VarChar).max_length(ASIN_MAX_LEN))
        .add_field(field("category", DataType::Int64))
        .add_field(field("price", DataType::Double))
        .add_field(field("stars", DataType::Double))
        .add_field(field(VECTOR_FIELD, DataType::FloatVector).dimension(dim as u32))
}

/// Creates the collection `<alias>_<build id>` and fills it with `vectors` (row i is id i) and
/// the filter columns of each row as the build's `rows` hold them (the values the answer's own
/// filter reads), then indexes and loads it. `progress` counts inserted rows.
pub fn build(
    target: &BuildTarget<'_>,
    vectors: &[f32],
    dim: usize,
    rows: &RowStore,
    progress: &indicatif::ProgressBar,
) -> Result<MilvusIndex> {
    check_name(target.alias)?;
    let name = format!("{}_{}", target.alias, target.build_id);
    let n = vectors.len() / dim;
    let client = connect(target.uri)?;
    {
        let (c, name, schema) = (client.clone(), name.clone(), schema(dim));
        wait(async move {
            let request = CreateCollectionRequest::builder()
                .collection_name(name)
                .schema(schema)
                .consistency_level(CONSISTENCY)
                .build()?;
            c.create_collection(request).await
        })
        .map_err(failed("create collection"))?;
    }
    tracing::info!(collection = %name, rows = n, "filling the Milvus collection");
    progress.set_length(n as u64);
    for start in (0..n).step_by(INSERT_BATCH) {
        let end = (start + INSERT_BATCH).min(n);
        let mut asin = Vec::with_capacity(end - start);
        let mut category = Vec::with_capacity(end - start);
        let mut price = Vec::with_capacity(end - start);
        let mut stars = Vec::with_capacity(end - start);
        for pos in start..end {
            let p = rows.product(pos)?;
            asin.push(p.asin);
            category.push(p.category_id);
            price.push(p.price);
            stars.push(p.stars);
        }
        let columns = vec![
            FieldData::int64("id", (start as i64..end as i64).collect()),
            FieldData::varchar("asin", asin),
            FieldData::int64("category", category),
            FieldData::double("price", price),
            FieldData::double("stars", stars),
            FieldData::float_vector(
                VECTOR_FIELD,
                vectors[start * dim..end * dim]
                    .chunks(dim)
                    .map(<[f32]>::to_vec)
                    .collect(),
            ),
        ];
        let (c, name) = (client.clone(), name.clone());
        let inserted = wait(async move {
            let request = InsertRequest::builder()
                .collection_name(name)
                .columns(columns)
                .build()?;
            c.insert(request).await
        })
        .map_err(failed("insert"))?
        .insert_count();
        if inserted as usize != end - start {
            return Err(Error::Milvus {
                what: "insert",
                message: format!("{inserted} of {} rows inserted", end - start),
            });
        }
        progress.inc((end - start) as u64);
    }
    let (c, coll) = (client.clone(), name.clone());
    let mut params: HashMap<String, String> = target.index_type.params(dim).into_iter().collect();
    params.insert("nlist".into(), target.nlist.to_string());
    let index_type = target.index_type.sdk();
    wait(async move {
        c.flush(
            FlushRequest::builder()
                .collection_names([coll.clone()])
                .wait_flushed_ms(3_600_000)
                .build()?,
        )
        .await?;
        c.create_index(
            CreateIndexRequest::builder()
                .collection_name(coll.clone())
                .index_param(
                    IndexParam::new()
                        .field_name(VECTOR_FIELD)
                        .index_name("vector_ivf")
                        .index_type(index_type)
                        .metric_type(MetricType::Ip)
                        .extra_params(params),
                )
                .sync(true)
                // Training IVF_PQ's codebooks on a large collection takes minutes.
                .timeout_ms(3_600_000)
                .build()?,
        )
        .await?;
        c.load_collection(
            LoadCollectionRequest::builder()
                .collection_name(coll)
                .sync(true)
                .timeout_ms(3_600_000)
                .build()?,
        )
        .await
    })
    .map_err(failed("index and load"))?;
    let index = MilvusIndex::built(client, target, &name, dim, n);
    let counted = index.count()?;
    if counted != n {
        return Err(Error::Milvus {
            what: "load",
            message: format!("the collection {name} holds {counted} rows, not {n}"),
        });
    }
    Ok(index)
}

/// Points `alias` at `collection` (creating the alias on first use) and drops this alias's
/// collections other than `collection` and the one the alias named until now, which requests
/// that started before the swap may still be searching; it goes at the next publish.
pub fn publish(uri: &str, alias: &str, collection: &str) -> Result<()> {
    let client = connect(uri)?;
    let (c, a) = (client.clone(), alias.to_owned());
    let previous = wait(async move {
        let request = DescribeAliasRequest::builder().alias(a).build()?;
        c.describe_alias(request).await
    })
    .ok()
    .map(|r| r.collection_name().to_owned());
    let (c, a, coll, exists) = (
        client.clone(),
        alias.to_owned(),
        collection.to_owned(),
        previous.is_some(),
    );
    wait(async move {
        if exists {
            let request = AlterAliasRequest::builder()
                .collection_name(coll)
                .alias(a)
                .build()?;
            c.alter_alias(request).await
        } else {
            let request = CreateAliasRequest::builder()
                .collection_name(coll)
                .alias(a)
                .build()?;
            c.create_alias(request).await
        }
    })
    .map_err(failed("move the alias"))?;
    tracing::info!(alias, collection, previous = ?previous, "alias moved");
    let c = client.clone();
    let names = wait(async move {
        c.list_collections(ListCollectionsRequest::builder().build()?)
            .await
    })
    .map_err(failed("list collections"))?
    .collection_names()
    .to_vec();
    let prefix = format!("{alias}_");
    for stale in names.into_iter().filter(|n| {
        n.strip_prefix(&prefix)
            .is_some_and(|id| id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()))
            && n != collection
            && Some(n) != previous.as_ref()
    }) {
        let c = client.clone();
        let name = stale.clone();
        let dropped = wait(async move {
            c.drop_collection(
                DropCollectionRequest::builder()
                    .collection_name(name)
                    .build()?,
            )
            .await
        });
        match dropped {
            Ok(_) => tracing::info!(collection = %stale, "dropped an older build's collection"),
            Err(error) => {
                tracing::warn!(collection = %stale, %error, "could not drop an older build's collection")
            }
        }
    }
    Ok(())
}
