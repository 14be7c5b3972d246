using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace QcPipeline.Service.Index.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class SeriesKindAndRetention : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "AnalyzedAt",
                table: "Series",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "IsQc",
                table: "Series",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "PurgedAt",
                table: "Series",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_Series_State_IsQc_AnalyzedAt",
                table: "Series",
                columns: new[] { "State", "IsQc", "AnalyzedAt" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Series_State_IsQc_AnalyzedAt",
                table: "Series");

            migrationBuilder.DropColumn(
                name: "AnalyzedAt",
                table: "Series");

            migrationBuilder.DropColumn(
                name: "IsQc",
                table: "Series");

            migrationBuilder.DropColumn(
                name: "PurgedAt",
                table: "Series");
        }
    }
}
